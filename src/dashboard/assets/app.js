var yt=Object.defineProperty;var bt=(t,e,n)=>e in t?yt(t,e,{enumerable:!0,configurable:!0,writable:!0,value:n}):t[e]=n;var de=(t,e,n)=>bt(t,typeof e!="symbol"?e+"":e,n);var $,Ie,$t,U,pe,ne,Me,ee,De,me,fe,kt,z=Symbol.for("pv"),se={},re=[],wt=/^m(i|n|o|s|text|space)$/,he=Array.isArray,ge=re.slice,j=Object.assign;function q(t){t&&t.parentNode&&t.remove()}function ve(t,e,n){var s,o,r,a={},i=arguments.length;for(r in e)r=="key"?s=e[r]:r=="ref"&&typeof t!="function"?o=e[r]:a[r]=e[r];return i>2&&(a.children=i>3?ge.call(arguments,2):n),B(t,a,s,o,null)}function B(t,e,n,s,o){var r={type:t,props:e,key:n,ref:s,__k:null,__:null,__b:0,__e:null,__c:null,constructor:z,__v:o||++Ie,__i:-1,__u:0};return!o&&$.vnode&&$.vnode(r),r}function oe(t){return t.children}function W(t,e){this.props=t,this.context=e,this.__g=0}function V(t,e){if(e==null)return t.__&&V(t.__,t.__i+1);for(var n;e<t.__k.length;e++)if((n=t.__k[e])&&n.__e)return n.__e;return typeof t.type!="function"||t.props.__P?null:V(t)}function xt(t){var e,n=t.__v,s=n.__e,o=[],r=[],a=t.__P;a&&((e=j({constructor:z},n)).__v=n.__v+1,$.vnode&&$.vnode(e),ye(a,e,n,t.__n,a.namespaceURI,32&n.__u?[s]:null,o,s||V(n),32&n.__u,r),e.__v=n.__v,e.__.__k[e.__i]=e,qe(o,e,r),n.__=n.__e=null,e.__e!=s&&Ue(e))}function Ue(t){if((t=t.__)&&t.__c&&!t.props.__P)return t.__e=null,t.__k.some(function(e){return e&&(t.__e=e.__e)}),Ue(t)}function Ne(t){(8&t.__g||(t.__g|=8,U.push(t),ne++))&&pe==$.debounceRendering||((pe=$.debounceRendering)||queueMicrotask)(Ve)}function Ve(){try{for(var t,e=1;U.length;)U.length>e&&U.sort(Me),t=U.shift(),e=U.length,8&t.__g&&xt(t)}finally{(ne=U.length)&&(pe||queueMicrotask)(Ve)}}function He(t,e,n,s,o,r,a,i,_,f,u){var c,d,l,m,h,y,b=s.__k||re,g=e.length;for(_=St(n,e,b,_,g),c=0;c<g;c++)(l=n.__k[c])!=null&&(d=~l.__i&&b[l.__i]||se,l.__i=c,y=ye(t,l,d,o,r,a,i,_,f,u),m=l.__e,(d.ref!=l.ref||8&d.__u)&&(d.ref&&be(d.ref,null,l,d),l.ref&&u.push(l.ref,l.__c||m,l)),h=h||m,4&l.__u?(_=Fe(l,_,t,!d.__v),d.__e&&(d.__e=null)):typeof l.type=="function"&&y!==void 0?_=y:m&&(_=m.nextSibling),l.__u&=-21);return n.__e=h,_}function St(t,e,n,s,o){var r,a,i,_,f,u,c,d,l,m=n.length,h=m,y=0,b=0,g=t.__k=Array(o);for(r=0;r<o;r++)(a=e[r])!=null&&typeof a!="boolean"&&typeof a!="function"?(typeof a!="object"||a.constructor===String?a=g[r]=B(null,a):he(a)?a=g[r]=B(oe,{children:a}):a.constructor===z&&a.__b?a=g[r]=B(a.type,a.props,a.key,a.ref,a.__v):g[r]=a,_=r+y,a.__=t,a.__b=t.__b+1,i=null,~(f=a.__i=Rt(a,n,_,h))&&(h--,(i=n[f])&&(i.__u|=2)),i&&i.__v?(a.__u|=16,f==_-1?y--:f==_+1?y++:f!=_&&(f>_?y--:y++,b=1)):(~f||(o>m?y--:o<m&&y++),typeof a.type!="function"&&(a.__u|=4))):g[r]=null;if(b){for(u=[],c=[],r=0;r<o;r++)if((a=g[r])&&16&a.__u){for(y=0,d=u.length;y<d;)u[l=y+d>>1]<a.__i?y=l+1:d=l;u[y]=a.__i,c[r]=y+1}for(y=u.length;r--;)c[r]&&(c[r]==y?y--:g[r].__u|=4)}if(h)for(r=0;r<m;r++)!(i=n[r])||2&i.__u||(i.__e==s&&(s=V(i)),$e(i,i));return s}function Fe(t,e,n,s){var o,r,a,i;if(typeof t.type=="function"){if(t.props.__P)return e;if(o=t.__k)for(r=0;r<o.length;r++)o[r]&&(o[r].__=t,e=Fe(o[r],e,n,!1));return e}for(e&&!e.parentNode&&(e=V(t))&&!e.parentNode&&(e=null),a=t.__e,i=e;i&&i.nodeType==8;)i=i.nextSibling;for(a!=i&&(!s&&n.moveBefore&&a.parentNode?n.moveBefore(a,e):n.insertBefore(a,e||null)),e=a;(e=e&&e.nextSibling)&&e.nodeType==8&&!e.data.startsWith("$s"););return e}function Rt(t,e,n,s){var o,r=t.key,a=t.type,i=e[n],_=i&&!(2&i.__u);if(i===null&&r==null||_&&r==i.key&&a==i.type)return n;if(s>(_?1:0)){for(o=n-1;o>=0;o--)if((i=e[o])&&!(2&i.__u)&&r==i.key&&a==i.type)return o;for(o=n+1;o<e.length;o++)if((i=e[o])&&!(2&i.__u)&&r==i.key&&a==i.type)return o}return-1}function Pe(t,e,n){n==null&&(n=""),e[0]=="-"?t.setProperty(e,n):t[e]=n}function Z(t,e,n,s,o){var r,a;if(e=="style")if(typeof n=="string")t.style.cssText=n;else{if(typeof s=="string"&&(t.style.cssText=s=""),s)for(e in s)n&&e in n||Pe(t.style,e);if(n)for(e in n)s&&n[e]==s[e]||Pe(t.style,e,n[e])}else if(e[0]=="o"&&e[1]=="n")typeof n!="function"&&(n=null),typeof s!="function"&&(s=null),(t.__e||(t.__e={}))[e]=n,n&&s||(a=fe[e]||(fe[e]=Et(e)),(t.__a||(t.__a={}))[e]=me,r=e!=(e=e.replace(De,"$1")),(e=e.slice(2))[0]<"a"&&(e=e.toLowerCase()),n?t.addEventListener(e,a,r):t.removeEventListener(e,a,r));else{if(o=="http://www.w3.org/2000/svg")e=e.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(e!="width"&&e!="height"&&e!="href"&&e!="list"&&e!="form"&&e!="tabIndex"&&e!="download"&&e!="rowSpan"&&e!="colSpan"&&e!="role"&&e!="popover"&&e in t)try{return void(t[e]=n??"")}catch{}if(typeof n=="function")return;n==null||n===!1&&e[4]!="-"?t.removeAttribute(e):t.setAttribute(e,e=="popover"&&n==1?"":n)}}function Et(t){return function(e){var n=this.__e;if(n){if(n=n[t],e[ee]==null)e[ee]=me++;else if(e[ee]<this.__a[t])return;return n($.event?$.event(e):e)}}}function ye(t,e,n,s,o,r,a,i,_,f){var u,c,d,l,m,h,y,b,g,w,v,T,H,R,C,F,D,O,I=e.type;if(e.constructor!==z)return null;128&n.__u&&(_=32&n.__u,u=n.__c.__z)&&(e.__u|=_,c=r=[],u.nodeType==8?i=te(u,r):r.push(u),i=r[0]||i),(u=$.__b)&&u(e);e:if(typeof I=="function"){d=a.length;try{if(b=e.props,g=(u=I.prototype)&&u.render,w=(u=I.contextType)&&s[u.__c],v=u?w?w.props.value:u.__:s,(l=n.__c)?(e.__c=l,2&l.__g&&(l.__g|=1)):(g?e.__c=l=new I(b,v):(e.__c=l=new W(b,v),l.constructor=I,l.render=Lt),w&&w.sub(l),l.state||(l.state={}),l.__n=s,l.__g|=8,l.__h=[],l.__k=[]),g&&(l.__s||(l.__s=l.state),I.getDerivedStateFromProps&&(l.__s==l.state&&(l.__s=j({},l.__s)),j(l.__s,I.getDerivedStateFromProps(b,l.__s)))),m=l.props,h=l.state,l.__v=e,n.__c){if(b!==m&&g&&!I.getDerivedStateFromProps&&l.componentWillReceiveProps&&l.componentWillReceiveProps(b,v),e.__v==n.__v&&!(8&l.__g)||!(4&l.__g)&&l.shouldComponentUpdate&&l.shouldComponentUpdate(b,l.__s,v)===!1){e.__v!=n.__v&&(l.props=b,l.state=l.__s,l.__g&=-9),e.__e=n.__e,e.__k=n.__k,e.__k.some(function(L){L&&(L.__=e)}),re.push.apply(l.__h,l.__k),l.__k=[],l.__h.length&&a.push(l),i=V(n);break e}l.componentWillUpdate&&l.componentWillUpdate(b,l.__s,v),g&&l.componentDidUpdate&&l.__h.push(function(){l.componentDidUpdate(m,h,y)})}else g&&!I.getDerivedStateFromProps&&l.componentWillMount&&l.componentWillMount(),g&&l.componentDidMount&&l.__h.push(l.componentDidMount);l.context=v,l.props=b,l.__P=t,l.__g&=-5,T=$.__r,H=g?25:0;do l.__g&=-9,T&&T(e),u=l.render(l.props,l.state=l.__s,l.context);while(8&l.__g&&++H<25);g&&(re.push.apply(l.__h,l.__k),l.__k=[]),l.state=l.__s,l.getChildContext&&(s=j({},s,l.getChildContext())),g&&n.__c&&l.getSnapshotBeforeUpdate&&(y=l.getSnapshotBeforeUpdate(m,h)),R=u&&u.type===oe&&u.key==null?u.props.children:u,b.__P&&(u=i,o=(t=b.__P).namespaceURI,_=r=null,n.props&&n.props.__P!=t&&(n.__k.some(function(L){L&&$e(L,L)}),n.__k=null),i=n.__k?V(n,0):null),i=He(t,he(R)?R:[R],e,n,s,o,r,a,i,_,f),b.__P&&(e.__e=null,i=u),e.__u&=-161,c&&c.some(q),l.__h.length&&a.push(l),1&l.__g&&(l.__g&=-4)}catch(L){if(a.length=d,e.__v=null,_||r)if(L&&L.then){if(e.__u|=128|_,r){for(~(D=r.indexOf(i||void 0))||(D=r.length);(O=r[D-1])&&O.nodeType==8;)D--;for(;D<r.length;D++)if(O=r[D])if(r[D]=null,C){if(O==F)break}else{if(O.nodeType!=8)break;O.data.startsWith("$s")&&(F=te(C=O))}}if(!C){for(;i&&i.nodeType==8&&i.nextSibling;)i=i.nextSibling;C=i}(u=te(C=e.__c.__z||(e.__c.__z=C)))?(e.__e=C,i=u):e.__e=i,i=i&&i.nextSibling}else r&&r.some(q);else e.__e=n.__e;e.__k||(e.__k=n.__k||[]),L&&L.then||Oe(e),$.__e(L,e,n)}}else i=e.__e=Tt(n.__e,e,n,s,o,r,a,_,f,t);return(u=$.diffed)&&u(e),i}function te(t,e){if(t&&t.nodeType==8&&t.data.startsWith("$s"))for(var n=1;t=t.nextSibling;){if(t.nodeType==8){if(t.data.startsWith("$s"))n++;else if(t.data.startsWith("/$s")&&!--n)return t}e&&e.push(t)}}function Oe(t){t&&(t.__c&&(t.__c.__g|=4),t.__k&&t.__k.some(Oe))}function qe(t,e,n){for(var s=0;s<n.length;)be(n[s++],n[s++],n[s++]);$.__c&&$.__c(e,t),t.some(function(o){try{t=o.__h,o.__h=[],t.some(function(r){r.call(o)})}catch(r){$.__e(r,o.__v)}})}function Tt(t,e,n,s,o,r,a,i,_,f){var u,c,d,l,m,h,y,b,g=n.props||se,w=e.props,v=e.type;if(v=="svg"?o="http://www.w3.org/2000/svg":v=="math"?o="http://www.w3.org/1998/Math/MathML":o||(o="http://www.w3.org/1999/xhtml"),r){for(u=0;u<r.length;u++)if((m=r[u])&&(v?m.localName==v:m.nodeType==3)){t=m,r[u]=null;break}}if(!t){if(b=f.ownerDocument||document,!v)return b.createTextNode(w);t=b.createElementNS(o,v,w.is?w:f),i&&($.__m&&$.__m(e,r),i=!1),r=null}if(v){if(f=v=="template"&&t.content||t,r=v=="textarea"&&w.defaultValue!=null?null:r&&ge.call(f.childNodes),!i&&r)for(g={},u=0;u<t.attributes.length;u++)g[(m=t.attributes[u]).name]=m.value;for(u in g)m=g[u],u=="dangerouslySetInnerHTML"?d=m:u=="children"||u in w||u=="value"&&"defaultValue"in w||u=="checked"&&"defaultChecked"in w||Z(t,u,null,m,o);for(u in w)m=w[u],u=="children"?l=m:u=="dangerouslySetInnerHTML"?c=m:u=="value"?h=m:u=="checked"?y=m:i&&typeof m!="function"||g[u]===m||Z(t,u,m,g[u],o);c?(i||d&&(c.__html==d.__html||c.__html==t.innerHTML)||(t.innerHTML=c.__html),e.__k=[]):(d&&(t.textContent=""),(v=="foreignObject"||o=="http://www.w3.org/1998/Math/MathML"&&wt.test(v))&&(o="http://www.w3.org/1999/xhtml"),He(f,he(l)?l:[l],e,n,s,o,r,a,r?r[0]:n.__k&&V(n,0),i,_),r&&r.some(q)),i&&v!="textarea"||(u="value",v=="progress"&&h==null?t.removeAttribute(u):h==null||h===t[u]&&(v!="progress"||h)||Z(t,u,h,g[u],o),u="checked",y!=null&&y!=t[u]&&Z(t,u,y,g[u],o))}else g===w||i&&t.data==w||(t.data=w);return t}function be(t,e,n,s){try{typeof t=="function"?e?e.__x=t(e)||1:s&&(s=s.__c||s.__e)&&(e=s.__x)&&(s.__x=null,typeof e=="function"?e():t(null)):t.current=e}catch(o){$.__e(o,n)}}function $e(t,e,n){var s,o,r,a;if($.unmount&&$.unmount(t),!(s=t.ref)||s.current&&s.current!=t.__e||be(s,null,e,t),s=t.__c){if(s.componentWillUnmount)try{s.componentWillUnmount()}catch(i){$.__e(i,e)}s.__P=s.__n=null}if(s=t.__k)for(a=0;a<s.length;a++)s[a]&&$e(s[a],e,typeof t.type!="function"||n&&!t.props.__P);!n&&(s=t.__c)&&(s=s.__z)&&(o=te(s,r=[]))&&(s==t.__e&&r.some(q),q(o),q(s)),n||q(t.__e),t.__e=t.__c=t.__=null}function Lt(t,e,n){return this.constructor(t,n)}function ke(t,e){var n,s,o,r;$.__&&$.__(t,e),e.nodeType==9&&(e=e.documentElement),s=(n=t&&32&t.__u)?null:e.__k,e.__k=B(oe,{children:[t]}),o=[],r=[],ye(e,e.__k,s||se,se,e.namespaceURI,s?null:e.firstChild?ge.call(e.childNodes):null,o,s?s.__e:e.firstChild,n,r),qe(o,e.__k,r),e.__k.props.children=null}$={__e:function(t,e,n,s){for(var o,r,a;e=e.__;)if((o=e.__c)&&!(1&o.__g)){o.__g|=4;try{if((a=(r=o.constructor)&&r.getDerivedStateFromError)&&o.setState(r.getDerivedStateFromError(t)),o.componentDidCatch&&(o.componentDidCatch(t,s||{}),a=1),a&&8&o.__g)return void(o.__g|=2)}catch(i){t=i}}throw ne=0,t}},Ie=0,$t=function(t){return t!=null&&t.constructor===z},W.prototype.setState=function(t,e){var n=this.__s;n&&n!=this.state||(n=this.__s=j({},this.state)),typeof t=="function"&&(t=t(j({},n),this.props)),t&&(j(n,t),this.__v&&(e&&this.__k.push(e),Ne(this)))},W.prototype.forceUpdate=function(t){this.__v&&(this.__g|=4,t&&this.__h.push(t),Ne(this))},W.prototype.render=oe,U=[],ne=0,Me=function(t,e){return t.__v.__b-e.__v.__b},ee=Symbol(),De=/(PointerCapture)$|Capture$/i,me=0,fe={},kt=0;var Be=function(t,e,n,s){var o;e[0]=0;for(var r=1;r<e.length;r++){var a=e[r++],i=e[r]?(e[0]|=a?1:2,n[e[r++]]):e[++r];a===3?s[0]=i:a===4?s[1]=Object.assign(s[1]||{},i):a===5?(s[1]=s[1]||{})[e[++r]]=i:a===6?s[1][e[++r]]+=i+"":a?(o=t.apply(i,Be(t,i,n,["",null])),s.push(o),i[0]?e[0]|=2:(e[r-2]=0,e[r]=o)):s.push(i)}return s},je=new Map;function We(t){var e=je.get(this);return e||(e=new Map,je.set(this,e)),(e=Be(this,e.get(t)||(e.set(t,e=(function(n){for(var s,o,r=1,a="",i="",_=[0],f=function(d){r===1&&(d||(a=a.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?_.push(0,d,a):r===3&&(d||a)?(_.push(3,d,a),r=2):r===2&&a==="..."&&d?_.push(4,d,0):r===2&&a&&!d?_.push(5,0,!0,a):r>=5&&((a||!d&&r===5)&&(_.push(r,0,a,o),r=6),d&&(_.push(r,d,0,o),r=6)),a=""},u=0;u<n.length;u++){u&&(r===1&&f(),f(u));for(var c=0;c<n[u].length;c++)s=n[u][c],r===1?s==="<"?(f(),_=[_],r=3):a+=s:r===4?a==="--"&&s===">"?(r=1,a=""):a=s+a[0]:i?s===i?i="":a+=s:s==='"'||s==="'"?i=s:s===">"?(f(),r=1):r&&(s==="="?(r=5,o=a,a=""):s==="/"&&(r<5||n[u][c+1]===">")?(f(),r===3&&(_=_[0]),r=_,(_=_[0]).push(2,0,r),r=0):s===" "||s==="	"||s===`
`||s==="\r"?(f(),r=2):a+=s),r===3&&a==="!--"&&(r=4,_=_[0])}return f(),_})(t)),e),arguments,[])).length>1?e:e[0]}var p=We.bind(ve);var J,S,we,ze,xe=Object.is,G=0,tt=[],Se=[],x=$,Ke=x.__b,Je=x.__r,Ge=x.diffed,Ye=x.__c,Qe=x.unmount,Xe=x.__;function Ee(t,e){x.__h&&x.__h(S,t,G||e),G=0;var n=S.__H||(S.__H={__:[],__h:[]});return t>=n.__.length&&n.__.push({}),n.__[t]}function k(t){return G=1,At(at,t)}function At(t,e,n){var s=Ee(J++,2);if(s.t=t,!s.__c&&(s.__=[n?n(e):at(void 0,e),function(r){var a=(s.__N||s.__)[0],i=s.t(a,r);xe(a,i)||(s.__N=[i,s.__[1]],s.__c.setState({}))}],s.__c=S,!S.__f)){S.__f=!0;var o=S.shouldComponentUpdate;S.shouldComponentUpdate=function(r,a,i){var _=this.__H;if(!_)return!0;var f=!1,u=this.props!=r;if(_.__.some(function(d){d.__N&&(f=!0,xe(d.__[0],d.__N[0])||(u=!0))}),o){var c=o.call(this,r,a,i);return f?c||u:c}return!f||u}}return s.__}function E(t,e){var n=Ee(J++,3);!x.__s&&ot(n.__H,e)&&(n.__P=!0,n.__=t,n.u=e,S.__H.__h.push(n))}function nt(t){return G=5,st(function(){return{current:t}},[])}function st(t,e){var n=Ee(J++,7);return ot(n.__H,e)&&(n.__=t(),n.__H=e),n.__}function rt(t,e){return G=8,st(function(){return t},e)}function Ct(){var t;do{for(;t=Se.shift();)try{K(t)}catch(n){x.__e(n,{__:(t=t.__P)&&t.__v})}for(;t=tt.shift();){var e=t.__H;if(t.__P&&e)try{e.__h.some(K),e.__h.some(Re),e.__h=[]}catch(n){e.__h=[],x.__e(n,t.__v)}}}while(Se.length)}x.__b=function(t){S=null,Ke&&Ke(t)},x.__=function(t,e){t&&e.__k&&e.__k.__m&&(t.__m=e.__k.__m),Xe&&Xe(t,e)},x.__r=function(t){Je&&Je(t),J=0;var e=(S=t.__c).__H;e&&(we==S?S.__h=[]:(e.__h.some(K),e.__h.some(Re),J=0),e.__h=[],e.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})),we=S},x.diffed=function(t){Ge&&Ge(t);var e=t.__c;e&&e.__H&&(e.__H.__h.length&&et(tt.push(e)),e.__H.__.some(function(n){n.u&&(n.__H=n.u)})),we=S=null},x.__c=function(t,e){e.some(function(n){try{n.__h.some(K),n.__h=n.__h.filter(function(s){return!s.__||Re(s)})}catch(s){n.__h=[function(){throw s}]}}),Ye&&Ye(t,e)},x.unmount=function(t){Qe&&Qe(t);var e,n,s=t.__c;s&&s.__H&&(s.__H.__.some(function(o){try{if(o.__P&&o.__c){if(n===void 0){for(n=t.__;n&&(!n.__c||!n.__c.__P);)n=n.__;n=n&&n.__c}o.__P=n,et(Se.push(o))}else K(o)}catch(r){e=r}}),s.__H=void 0,e&&x.__e(e,s.__v))};var Ze=typeof requestAnimationFrame=="function";function Nt(t){var e,n=function(){clearTimeout(s),Ze&&cancelAnimationFrame(e),setTimeout(t)},s=setTimeout(n,35);Ze&&(e=requestAnimationFrame(n))}function et(t){t!=1&&ze==x.requestAnimationFrame||((ze=x.requestAnimationFrame)||Nt)(Ct)}function K(t){var e=S,n=t.__c;typeof n=="function"&&(t.__c=void 0,n()),S=e}function Re(t){var e=S;t.__c=t.__(),S=e}function ot(t,e){return!t||t.length!=e.length||e.some(function(n,s){return!xe(n,t[s])})}function at(t,e){return typeof e=="function"?e(t):e}var Y="agentcore-task.token",Pt=new URL("../",window.location.href.split("#")[0]);function Te(){return sessionStorage.getItem(Y)??localStorage.getItem(Y)??""}function it(t,e){ae(),(e?localStorage:sessionStorage).setItem(Y,t)}function ae(){sessionStorage.removeItem(Y),localStorage.removeItem(Y)}var N=class extends Error{constructor(n,s,o){super(s);de(this,"status",n);de(this,"field",o)}};function lt(t={}){let e=Te();return e?{...t,Authorization:`Bearer ${e}`}:t}function ut(t,e={}){let n=new URL(t,Pt);for(let[s,o]of Object.entries(e))o!==void 0&&o!==""&&n.searchParams.set(s,o);return n}async function A(t,e={}){let n=await fetch(ut(t,e.query),{method:e.method??"GET",headers:lt({Accept:"application/json"}),credentials:"same-origin"}),s=await n.text(),o=null;try{o=s?JSON.parse(s):null}catch{o=null}if(!n.ok){let r=o??{};throw new N(n.status,r.error??r.detail??`${n.status} ${n.statusText}`,r.field)}return o}function ie(t,e,n,s){let o=new AbortController,r="",a=0;return(async()=>{for(;!o.signal.aborted;){try{let f=await fetch(ut(t,e),{headers:lt(r?{Accept:"text/event-stream","Last-Event-ID":r}:{Accept:"text/event-stream"}),credentials:"same-origin",signal:o.signal,cache:"no-store"});if(f.status===401||f.status===403||f.status===404){s("closed");return}if(!f.ok||!f.body)throw new Error(`stream answered ${f.status}`);s("live"),a=0,await It(f.body,u=>{u.id&&(r=u.id),n(u)})}catch{if(o.signal.aborted)return}s("reconnecting");let _=Math.min(1e4,500*2**a++);await new Promise(f=>setTimeout(f,_))}})(),()=>{o.abort()}}async function It(t,e){let n=t.getReader(),s=new TextDecoder,o="",r={event:"",data:[],id:""};for(;;){let{value:a,done:i}=await n.read();if(i)return;o+=s.decode(a,{stream:!0});let _=o.endsWith("\r")?"\r":"",f=(_?o.slice(0,-1):o).split(/\r\n|\r|\n/);o=(f.pop()??"")+_;for(let u of f){if(u===""){r.data.length>0&&e({event:r.event||"message",data:r.data.join(`
`),id:r.id}),r={event:"",data:[],id:r.id};continue}if(u.startsWith(":"))continue;let c=u.indexOf(":"),d=c===-1?u:u.slice(0,c),l=c===-1?"":u.slice(c+1),m=l.startsWith(" ")?l.slice(1):l;d==="event"?r.event=m:d==="data"?r.data.push(m):d==="id"&&(r.id=m)}}}function Le(t){let[e="",n=""]=t.replace(/^#/,"").split("?"),[,s="runs",o]=e.split("/");return{view:s||"runs",id:o,query:new URLSearchParams(n)}}function Q(t,e={}){let n=new URLSearchParams;for(let[o,r]of Object.entries(e))r!==void 0&&r!==""&&n.set(o,r);let s=n.toString();return`#${t}${s?`?${s}`:""}`}var Mt=new Intl.DateTimeFormat(void 0,{dateStyle:"medium",timeStyle:"medium"});function M(t){if(!t)return"\u2014";let e=new Date(t);return Number.isNaN(e.getTime())?t:Mt.format(e)}function le(t){if(t==null)return"\u2014";if(t<1)return`${Math.round(t*1e3)} ms`;if(t<60)return`${t.toFixed(1)} s`;let e=Math.floor(t/60);return e<60?`${e} min ${Math.round(t%60)} s`:`${Math.floor(e/60)} h ${e%60} min`}function ue({status:t}){return p`<span class=${`badge badge-${t.toLowerCase()}`}>${t}</span>`}function Dt(t){let e=t.metadata??{},n=e.progress_percent;if(n==null)return null;let s=Number(n);return{percent:Number.isFinite(s)?Math.max(0,Math.min(100,s)):0,message:typeof e.progress_message=="string"?e.progress_message:"",step:e.progress_step===void 0||e.progress_step===null?"":String(e.progress_step)}}function ce({item:t,label:e}){let n=Dt(t);if(!n)return null;let s=[n.step,n.message].filter(Boolean).join(" \xB7 ");return p`<div class="progress">
    <div
      class=${`progress-track progress-${t.status.toLowerCase()}`}
      role="progressbar"
      aria-label=${e}
      aria-valuemin="0"
      aria-valuemax="100"
      aria-valuenow=${String(n.percent)}
      aria-valuetext=${`${n.percent}%${s?` ${s}`:""}`}
    >
      <div class="progress-fill" style=${{width:`${n.percent}%`}}></div>
    </div>
    <div class="progress-text"><span class="progress-percent">${n.percent}%</span> ${s}</div>
  </div>`}function X({value:t,label:e}){let n=t===void 0?"":JSON.stringify(t,null,2);return p`<pre class="code" aria-label=${e} tabindex="0">${n}</pre>`}function P({error:t}){return t?p`<p class="alert" role="alert">${t}</p>`:null}function ct({id:t,onLive:e}){let[n,s]=k(null),[o,r]=k(null),[a,i]=k(!1),[_,f]=k(null),u=nt(null);u.current=n?.status??u.current;let c=()=>A(`executions/${encodeURIComponent(t)}/`).then(h=>{s(h),r(null)}).catch(h=>r(h instanceof N&&h.status===404?"This run does not exist or is not yours.":h.message));E(()=>{s(null),c();let h,y=ie(`executions/${encodeURIComponent(t)}/stream/`,{},b=>{if(b.event!=="execution")return;let g=JSON.parse(b.data),w=u.current!==g.status;u.current=g.status,s(v=>v&&{...v,...g}),(w||g.is_completed)&&(clearTimeout(h),h=setTimeout(()=>{c()},200))},e);return()=>{clearTimeout(h),y(),e("closed")}},[t]);let d=async()=>{i(!0),f(null);try{s(await A(`executions/${encodeURIComponent(t)}/sync/`,{method:"POST"})),f("Synced from the queue.")}catch(h){f(`Sync failed: ${h.message}`)}finally{i(!1)}};if(o)return p`<main id="main"><p><a href="#/runs">← All runs</a></p><${P} error=${o} /></main>`;if(!n)return p`<main id="main"><p class="muted" aria-live="polite">Loading…</p></main>`;let l={...n.metadata??{}},m=Array.isArray(l.logs)?l.logs:[];return delete l.logs,p`<main id="main" class="detail">
    <p><a href="#/runs">← All runs</a></p>
    <div class="detail-head">
      <h1>${n.task_name||"(unnamed)"} <${ue} status=${n.status} /></h1>
      <button type="button" onClick=${d} disabled=${a} aria-label="Sync this run from the queue">
        ${a?"Syncing\u2026":"Sync"}
      </button>
    </div>
    ${_?p`<p class="notice" role="status">${_}</p>`:null}
    <dl class="facts">
      <div><dt>Task id</dt><dd class="mono">${n.task_id}</dd></div>
      <div><dt>Module</dt><dd>${n.module||"\u2014"}</dd></div>
      <div><dt>Run id</dt><dd>${n.id}</dd></div>
      <div><dt>Started by</dt><dd>${n.created_by_username??n.created_by_id??"system"}</dd></div>
      <div><dt>Duration</dt><dd>${le(n.duration)}</dd></div>
    </dl>
    <${ce} item=${n} label="Progress" />

    <section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>
      <ol class="timeline">
        <li class="done"><span>Created</span> <time datetime=${n.created_at}>${M(n.created_at)}</time></li>
        <li class=${n.started_at?"done":""}><span>Started</span> ${n.started_at?p`<time datetime=${n.started_at}>${M(n.started_at)}</time>`:p`<span class="muted">not yet</span>`}</li>
        <li class=${n.finished_at?"done":""}><span>Finished</span> ${n.finished_at?p`<time datetime=${n.finished_at}>${M(n.finished_at)}</time>`:p`<span class="muted">not yet</span>`}</li>
      </ol>
    </section>

    ${n.error||n.traceback?p`<section aria-labelledby="h-error"><h2 id="h-error">Error</h2>
            ${n.error?p`<p class="alert">${n.error}</p>`:null}
            ${n.traceback?p`<pre class="code traceback" aria-label="Traceback" tabindex="0">${n.traceback}</pre>`:null}
          </section>`:null}

    <section aria-labelledby="h-result"><h2 id="h-result">Result</h2><${X} value=${n.result} label="Result" /></section>
    <div class="two">
      <section aria-labelledby="h-args"><h2 id="h-args">Arguments</h2><${X} value=${n.task_args} label="Arguments" /></section>
      <section aria-labelledby="h-kwargs"><h2 id="h-kwargs">Keyword arguments</h2><${X} value=${n.task_kwargs} label="Keyword arguments" /></section>
    </div>
    <section aria-labelledby="h-metadata"><h2 id="h-metadata">Metadata</h2><${X} value=${l} label="Metadata" /></section>

    <section aria-labelledby="h-logs"><h2 id="h-logs">Logs</h2>
      ${m.length===0?p`<p class="muted">No logs were collected for this run.</p>`:p`<table class="logs">
              <thead><tr><th scope="col">Time</th><th scope="col">Level</th><th scope="col">Message</th></tr></thead>
              <tbody>${m.map(h=>p`<tr class=${`log-${String(h.level).toLowerCase()}`}>
                  <td data-label="Time"><time datetime=${h.timestamp}>${M(h.timestamp)}</time></td>
                  <td data-label="Level"><span class="level">${h.level}</span></td>
                  <td data-label="Message">${h.message}${h.exception?p`<pre class="code small">${h.exception}</pre>`:null}</td>
                </tr>`)}</tbody>
            </table>`}
    </section>
  </main>`}function _t(){let[t,e]=k(null),[n,s]=k(null),o=()=>A("locks/").then(r=>{e(Array.isArray(r)?r:r.results??r.locks??[]),s(null)}).catch(r=>s(r.message));return E(()=>{o()},[]),p`<main id="main">
    <div class="detail-head"><h1>Locks</h1><button type="button" onClick=${o}>Refresh</button></div>
    <p class="muted">Task locks held right now. A lock expires by itself at its expiry unless its holder renews it.</p>
    <${P} error=${n} />
    ${t&&t.length===0?p`<p class="empty">No locks are held.</p>`:null}
    ${t&&t.length>0?p`<table class="locks"><thead><tr><th scope="col">Name</th><th scope="col">Owner</th><th scope="col">Expires</th></tr></thead>
          <tbody>${t.map(r=>p`<tr><td data-label="Name" class="mono">${r.name}</td><td data-label="Owner" class="mono small">${r.owner}</td>
              <td data-label="Expires">${M(r.expires_at)}</td></tr>`)}</tbody></table>`:null}
  </main>`}var dt=["PENDING","STARTED","SUCCESS","FAILURE","RETRY","REVOKED"];var _e=["search","status","module","task_name","start_date","end_date","ordering","page_size","my_tasks"],Ut=[["-created_at","Newest first"],["created_at","Oldest first"],["-started_at","Recently started"],["-finished_at","Recently finished"],["status","Status"],["task_name","Task name"]],Vt=["search","module","task_name","start_date","end_date","my_tasks","created_by"];function Ae(t,e){let n={};for(let s of e)t.get(s)&&(n[s]=t.get(s)??void 0);return n}function pt({route:t,isAdmin:e,onLive:n}){let s=t.query,o={...Ae(s,[..._e,"created_by","page"])},r=new URLSearchParams(o).toString(),a=Ae(s,Vt),i=new URLSearchParams(a).toString(),_=Number(s.get("page")??"1")||1,f=Number(s.get("page_size")??"10")||10,u=s.get("ordering")??"-created_at",c=s.get("status")??"",[d,l]=k(null),[m,h]=k(null),[y,b]=k(!0);E(()=>{let v=!1;return b(!0),A("executions/",{query:o}).then(T=>{v||(l(T),h(null))}).catch(T=>{v||(l(null),h(T instanceof N&&T.status===404?"No runs on this page.":T.message))}).finally(()=>!v&&b(!1)),()=>{v=!0}},[r]),E(()=>{let v=ie("executions/stream/",a,T=>{if(T.event!=="execution")return;let H=JSON.parse(T.data);l(R=>{if(!R)return R;let C=R.results.findIndex(F=>F.id===H.id);if(C>=0){let F=R.results.slice();return F[C]=H,{...R,results:F}}return _!==1||u!=="-created_at"||c&&H.status!==c?R:{...R,count:R.count+1,results:[H,...R.results].slice(0,f)}})},n);return()=>{v(),n("closed")}},[i,_,f,u,c]);let g=d?Math.max(1,Math.ceil(d.count/f)):1,w=v=>{window.location.hash=Q("/runs",{...Ae(s,[..._e,"created_by","page"]),...v})};return p`<main id="main">
    <h1>Task runs</h1>
    <${Ht} key=${r} query=${s} isAdmin=${e} onApply=${v=>w({...v,page:void 0})} />
    <${P} error=${m} />
    <div class="list-head">
      <p class="muted" aria-live="polite">${y?"Loading\u2026":d?`${d.count} run${d.count===1?"":"s"}`:""}</p>
    </div>
    ${d&&d.results.length===0?p`<p class="empty">No runs match these filters.</p>`:null}
    ${d&&d.results.length>0?p`<${Ft} items=${d.results} />`:null}
    ${d&&d.count>f?p`<nav class="pager" aria-label="Pages">
            <button type="button" disabled=${_<=1} onClick=${()=>w({page:String(_-1)})}>Previous</button>
            <span>Page ${_} of ${g}</span>
            <button type="button" disabled=${_>=g} onClick=${()=>w({page:String(_+1)})}>Next</button>
          </nav>`:null}
  </main>`}function Ht({query:t,isAdmin:e,onApply:n}){let[s,o]=k(()=>{let a={ordering:"-created_at",page_size:"10"};for(let i of _e)t.get(i)&&(a[i]=t.get(i)??"");return a}),r=a=>({name:a,value:s[a]??"",onInput:i=>o({...s,[a]:i.target.value})});return p`<form
    class="filters"
    role="search"
    aria-label="Filter runs"
    onSubmit=${a=>{a.preventDefault();let i={};for(let _ of _e)s[_]&&(i[_]=s[_]);i.ordering==="-created_at"&&delete i.ordering,i.page_size==="10"&&delete i.page_size,n(i)}}
  >
    <div class="field grow"><label for="f-search">Search</label>
      <input id="f-search" type="search" placeholder="Task name or id" ...${r("search")} /></div>
    <div class="field"><label for="f-status">Status</label>
      <select id="f-status" ...${r("status")}>
        <option value="">Any status</option>
        ${dt.map(a=>p`<option value=${a}>${a}</option>`)}
      </select></div>
    <div class="field"><label for="f-module">Module</label><input id="f-module" ...${r("module")} /></div>
    <div class="field"><label for="f-task-name">Task name</label><input id="f-task-name" ...${r("task_name")} /></div>
    <div class="field"><label for="f-start">From</label><input id="f-start" type="date" ...${r("start_date")} /></div>
    <div class="field"><label for="f-end">To</label><input id="f-end" type="date" ...${r("end_date")} /></div>
    <div class="field"><label for="f-ordering">Order</label>
      <select id="f-ordering" ...${r("ordering")}>
        ${Ut.map(([a,i])=>p`<option value=${a}>${i}</option>`)}
      </select></div>
    <div class="field"><label for="f-page-size">Per page</label>
      <select id="f-page-size" ...${r("page_size")}>
        ${["10","25","50","100"].map(a=>p`<option value=${a}>${a}</option>`)}
      </select></div>
    ${e?p`<div class="field check-field"><label class="check"><input type="checkbox" name="all_users"
            checked=${s.my_tasks==="false"}
            onChange=${a=>o({...s,my_tasks:a.target.checked?"false":""})} />
            All users</label></div>`:null}
    <div class="field actions">
      <button type="submit" class="primary">Apply</button>
      <a class="button" href="#/runs">Reset</a>
    </div>
  </form>`}function Ft({items:t}){return p`<table class="runs">
    <caption class="sr-only">Task runs</caption>
    <thead><tr><th scope="col">Task</th><th scope="col">Module</th><th scope="col">Status</th><th scope="col">Progress</th>
      <th scope="col">Created</th><th scope="col">Duration</th><th scope="col">User</th></tr></thead>
    <tbody>
      ${t.map(e=>p`<tr key=${e.id} data-run-id=${e.id} data-status=${e.status}>
          <td data-label="Task"><a href=${`#/runs/${e.id}`} class="task-link">${e.task_name||"(unnamed)"}</a>
            <div class="muted mono small">${e.task_id}</div></td>
          <td data-label="Module">${e.module||"\u2014"}</td>
          <td data-label="Status"><${ue} status=${e.status} /></td>
          <td data-label="Progress" class="progress-cell">
            ${p`<${ce} item=${e} label=${`Progress of ${e.task_name}`} />`}</td>
          <td data-label="Created"><time datetime=${e.created_at}>${M(e.created_at)}</time></td>
          <td data-label="Duration">${le(e.duration)}</td>
          <td data-label="User">${e.created_by_username??e.created_by_id??"system"}</td>
        </tr>`)}
    </tbody>
  </table>`}function ft({onSignIn:t,error:e}){let[n,s]=k(""),[o,r]=k(!1);return p`<main class="signin" id="main">
    <form
      class="card"
      aria-labelledby="signin-title"
      onSubmit=${a=>{a.preventDefault(),n.trim()&&t(n.trim(),o)}}
    >
      <h1 id="signin-title">Sign in</h1>
      <p class="muted">Paste the API token your administrator gave you.</p>
      <${P} error=${e} />
      <label for="token">Access token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required value=${n}
        onInput=${a=>s(a.target.value)} />
      <label class="check"><input type="checkbox" checked=${o}
        onChange=${a=>r(a.target.checked)} /> Remember on this device</label>
      <button type="submit" class="primary">Sign in</button>
    </form>
  </main>`}var Ce=["pending","started","success","failure","retry","revoked"],Ot=["module","task_name","start_date","end_date","granularity","my_tasks"];function ht({route:t,isAdmin:e}){let n={};for(let c of Ot)t.query.get(c)&&(n[c]=t.query.get(c)??void 0);n.granularity??(n.granularity="month");let s=new URLSearchParams(n).toString(),[o,r]=k(null),[a,i]=k(null),[_,f]=k({});E(()=>f(n),[s]),E(()=>{let c=!1;return A("executions/stats/",{query:n}).then(d=>{c||(r(d),i(null))}).catch(d=>{c||i(d.message)}),()=>{c=!0}},[s]);let u=c=>({name:c,value:_[c]??"",onInput:d=>f({..._,[c]:d.target.value})});return p`<main id="main">
    <h1>Statistics</h1>
    <form class="filters" aria-label="Filter statistics" onSubmit=${c=>{c.preventDefault(),window.location.hash=Q("/stats",_)}}>
      <div class="field"><label for="s-module">Module</label><input id="s-module" ...${u("module")} /></div>
      <div class="field"><label for="s-task">Task name</label><input id="s-task" ...${u("task_name")} /></div>
      <div class="field"><label for="s-start">From</label><input id="s-start" type="date" ...${u("start_date")} /></div>
      <div class="field"><label for="s-end">To</label><input id="s-end" type="date" ...${u("end_date")} /></div>
      <div class="field"><label for="s-granularity">Chart</label>
        <select id="s-granularity" ...${u("granularity")}>
          <option value="day">One day, by hour</option>
          <option value="month">30 days, by day</option>
          <option value="year">12 months, by month</option>
        </select></div>
      ${e?p`<div class="field check-field"><label class="check"><input type="checkbox"
          checked=${_.my_tasks==="false"}
          onChange=${c=>f({..._,my_tasks:c.target.checked?"false":""})} /> All users</label></div>`:null}
      <div class="field actions"><button type="submit" class="primary">Apply</button></div>
    </form>
    <${P} error=${a} />
    ${o?p`
      <ul class="counts" aria-label="Runs by status">
        <li class="count-total"><span class="count-label">Total</span><strong>${o.total}</strong></li>
        ${Ce.map(c=>p`<li class=${`count-${c}`}><a href=${Q("/runs",{status:c.toUpperCase(),my_tasks:n.my_tasks})}>
            <span class="count-label">${c}</span><strong>${o[c]}</strong></a></li>`)}
      </ul>
      ${o.series?p`<section aria-labelledby="h-series"><h2 id="h-series">Runs over time</h2><${qt} series=${o.series} /></section>`:null}
      <div class="two">
        <section aria-labelledby="h-by-module"><h2 id="h-by-module">By module</h2><${mt} rows=${o.by_module} label="Module" /></section>
        <section aria-labelledby="h-by-task"><h2 id="h-by-task">By task name</h2><${mt} rows=${o.by_task_name} label="Task name" /></section>
      </div>`:p`<p class="muted" aria-live="polite">Loading…</p>`}
  </main>`}function mt({rows:t,label:e}){let n=Object.entries(t).sort((s,o)=>o[1].total-s[1].total);return n.length===0?p`<p class="muted">No runs.</p>`:p`<div class="scroll"><table class="counts-table">
    <thead><tr><th scope="col">${e}</th><th scope="col">Total</th>${Ce.map(s=>p`<th scope="col" class="num">${s}</th>`)}</tr></thead>
    <tbody>${n.map(([s,o])=>p`<tr><th scope="row" class="name">${s||"\u2014"}</th><td class="num"><strong>${o.total}</strong></td>
        ${Ce.map(r=>p`<td class=${`num ${o[r]?`has-${r}`:"zero"}`}>${o[r]}</td>`)}</tr>`)}</tbody>
  </table></div>`}function qt({series:t}){let s={top:12,right:8,bottom:28,left:36},o=Math.max(1,...t.map(c=>c.count)),r=720-s.left-s.right,a=220-s.top-s.bottom,i=r/Math.max(1,t.length),_=Math.ceil(t.length/8),f=[0,Math.ceil(o/2),o],u=t.reduce((c,d)=>c+d.count,0);return p`<figure class="chart">
    <svg viewBox=${"0 0 720 220"} role="img" aria-label=${`${u} runs in ${t.length} buckets, at most ${o} in one`}>
      ${f.map(c=>{let d=s.top+a-c/o*a;return p`<g class="tick"><line x1=${s.left} x2=${720-s.right} y1=${d} y2=${d} />
          <text x=${s.left-6} y=${d+4} text-anchor="end">${c}</text></g>`})}
      ${t.map((c,d)=>{let l=c.count/o*a,m=s.left+d*i;return p`<g class="bar">
          <rect x=${m+i*.15} y=${s.top+a-l} width=${Math.max(1,i*.7)} height=${Math.max(0,l)} rx="2"><title>${c.bucket}: ${c.count}</title></rect>
          ${d%_===0?p`<text x=${m+i/2} y=${212} text-anchor="middle">${c.bucket}</text>`:null}
        </g>`})}
    </svg>
  </figure>`}async function gt(){try{await A("executions/",{query:{page_size:"1"}})}catch(t){if(t instanceof N&&t.status===401)return{state:"signed-out",error:null};throw t}try{return await A("executions/",{query:{page_size:"1",my_tasks:"false"}}),{state:"in",isAdmin:!0}}catch(t){if(t instanceof N&&t.status===403)return{state:"in",isAdmin:!1};throw t}}function jt(){let[t,e]=k(()=>Le(window.location.hash));return E(()=>{let n=()=>e(Le(window.location.hash));return window.addEventListener("hashchange",n),()=>window.removeEventListener("hashchange",n)},[]),t}function Bt(){let t=jt(),[e,n]=k({state:"checking"}),[s,o]=k(null),[r,a]=k("closed"),i=rt(c=>a(c),[]),_=()=>gt().then(n).catch(c=>o(c.message));if(E(()=>{_()},[]),s)return p`<main id="main" class="signin"><p class="alert" role="alert">Cannot reach the API: ${s}</p></main>`;if(e.state==="checking")return p`<main id="main" class="signin"><p class="muted" aria-live="polite">Loading…</p></main>`;if(e.state==="signed-out")return p`<${ft}
      error=${e.error}
      onSignIn=${async(c,d)=>{it(c,d);let l=await gt().catch(m=>({state:"signed-out",error:m.message}));l.state==="signed-out"?(ae(),n({state:"signed-out",error:l.error??"That token was not accepted."})):n(l)}}
    />`;let f=t.view==="runs"&&t.id?"detail":t.view,u=(c,d,l)=>p`<a href=${d} aria-current=${f===c||c==="runs"&&f==="detail"?"page":void 0}>${l}</a>`;return p`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="#/runs">agentcore-task</a>
      <nav aria-label="Sections">
        ${u("runs","#/runs","Runs")} ${u("stats","#/stats","Stats")} ${e.isAdmin?u("locks","#/locks","Locks"):null}
      </nav>
      <span class=${`live live-${r}`} role="status" aria-label=${`Live updates: ${r}`} title="Live updates">
        ${r==="live"?"Live":r==="reconnecting"?"Reconnecting\u2026":""}
      </span>
      ${Te()?p`<button type="button" class="link" onClick=${()=>{ae(),n({state:"signed-out",error:null})}}>Sign out</button>`:null}
    </header>
    ${f==="detail"?p`<${ct} key=${t.id} id=${t.id} onLive=${i} />`:null}
    ${f==="runs"?p`<${pt} route=${t} isAdmin=${e.isAdmin} onLive=${i} />`:null}
    ${f==="stats"?p`<${ht} route=${t} isAdmin=${e.isAdmin} />`:null}
    ${f==="locks"&&e.isAdmin?p`<${_t} />`:null}
    ${!["detail","runs","stats"].includes(f)&&!(f==="locks"&&e.isAdmin)?p`<main id="main"><p>Page not found. <a href="#/runs">All runs</a></p></main>`:null}
  </div>`}var vt=document.getElementById("app");vt&&ke(p`<${Bt} />`,vt);
