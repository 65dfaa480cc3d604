var bt=Object.defineProperty;var $t=(t,e,n)=>e in t?bt(t,e,{enumerable:!0,configurable:!0,writable:!0,value:n}):t[e]=n;var de=(t,e,n)=>$t(t,typeof e!="symbol"?e+"":e,n);var $,Ie,kt,U,pe,ne,Me,ee,De,me,fe,wt,z=Symbol.for("pv"),se={},re=[],St=/^m(i|n|o|s|text|space)$/,he=Array.isArray,ge=re.slice,q=Object.assign;function W(t){t&&t.parentNode&&t.remove()}function ve(t,e,n){var r,o,s,a={},l=arguments.length;for(s in e)s=="key"?r=e[s]:s=="ref"&&typeof t!="function"?o=e[s]:a[s]=e[s];return l>2&&(a.children=l>3?ge.call(arguments,2):n),j(t,a,r,o,null)}function j(t,e,n,r,o){var s={type:t,props:e,key:n,ref:r,__k:null,__:null,__b:0,__e:null,__c:null,constructor:z,__v:o||++Ie,__i:-1,__u:0};return!o&&$.vnode&&$.vnode(s),s}function oe(t){return t.children}function B(t,e){this.props=t,this.context=e,this.__g=0}function V(t,e){if(e==null)return t.__&&V(t.__,t.__i+1);for(var n;e<t.__k.length;e++)if((n=t.__k[e])&&n.__e)return n.__e;return typeof t.type!="function"||t.props.__P?null:V(t)}function xt(t){var e,n=t.__v,r=n.__e,o=[],s=[],a=t.__P;a&&((e=q({constructor:z},n)).__v=n.__v+1,$.vnode&&$.vnode(e),ye(a,e,n,t.__n,a.namespaceURI,32&n.__u?[r]:null,o,r||V(n),32&n.__u,s),e.__v=n.__v,e.__.__k[e.__i]=e,We(o,e,s),n.__=n.__e=null,e.__e!=r&&Ue(e))}function Ue(t){if((t=t.__)&&t.__c&&!t.props.__P)return t.__e=null,t.__k.some(function(e){return e&&(t.__e=e.__e)}),Ue(t)}function Ce(t){(8&t.__g||(t.__g|=8,U.push(t),ne++))&&pe==$.debounceRendering||((pe=$.debounceRendering)||queueMicrotask)(Ve)}function Ve(){try{for(var t,e=1;U.length;)U.length>e&&U.sort(Me),t=U.shift(),e=U.length,8&t.__g&&xt(t)}finally{(ne=U.length)&&(pe||queueMicrotask)(Ve)}}function He(t,e,n,r,o,s,a,l,c,f,u){var d,_,i,m,h,y,b=r.__k||re,g=e.length;for(c=Rt(n,e,b,c,g),d=0;d<g;d++)(i=n.__k[d])!=null&&(_=~i.__i&&b[i.__i]||se,i.__i=d,y=ye(t,i,_,o,s,a,l,c,f,u),m=i.__e,(_.ref!=i.ref||8&_.__u)&&(_.ref&&be(_.ref,null,i,_),i.ref&&u.push(i.ref,i.__c||m,i)),h=h||m,4&i.__u?(c=Fe(i,c,t,!_.__v),_.__e&&(_.__e=null)):typeof i.type=="function"&&y!==void 0?c=y:m&&(c=m.nextSibling),i.__u&=-21);return n.__e=h,c}function Rt(t,e,n,r,o){var s,a,l,c,f,u,d,_,i,m=n.length,h=m,y=0,b=0,g=t.__k=Array(o);for(s=0;s<o;s++)(a=e[s])!=null&&typeof a!="boolean"&&typeof a!="function"?(typeof a!="object"||a.constructor===String?a=g[s]=j(null,a):he(a)?a=g[s]=j(oe,{children:a}):a.constructor===z&&a.__b?a=g[s]=j(a.type,a.props,a.key,a.ref,a.__v):g[s]=a,c=s+y,a.__=t,a.__b=t.__b+1,l=null,~(f=a.__i=Tt(a,n,c,h))&&(h--,(l=n[f])&&(l.__u|=2)),l&&l.__v?(a.__u|=16,f==c-1?y--:f==c+1?y++:f!=c&&(f>c?y--:y++,b=1)):(~f||(o>m?y--:o<m&&y++),typeof a.type!="function"&&(a.__u|=4))):g[s]=null;if(b){for(u=[],d=[],s=0;s<o;s++)if((a=g[s])&&16&a.__u){for(y=0,_=u.length;y<_;)u[i=y+_>>1]<a.__i?y=i+1:_=i;u[y]=a.__i,d[s]=y+1}for(y=u.length;s--;)d[s]&&(d[s]==y?y--:g[s].__u|=4)}if(h)for(s=0;s<m;s++)!(l=n[s])||2&l.__u||(l.__e==r&&(r=V(l)),$e(l,l));return r}function Fe(t,e,n,r){var o,s,a,l;if(typeof t.type=="function"){if(t.props.__P)return e;if(o=t.__k)for(s=0;s<o.length;s++)o[s]&&(o[s].__=t,e=Fe(o[s],e,n,!1));return e}for(e&&!e.parentNode&&(e=V(t))&&!e.parentNode&&(e=null),a=t.__e,l=e;l&&l.nodeType==8;)l=l.nextSibling;for(a!=l&&(!r&&n.moveBefore&&a.parentNode?n.moveBefore(a,e):n.insertBefore(a,e||null)),e=a;(e=e&&e.nextSibling)&&e.nodeType==8&&!e.data.startsWith("$s"););return e}function Tt(t,e,n,r){var o,s=t.key,a=t.type,l=e[n],c=l&&!(2&l.__u);if(l===null&&s==null||c&&s==l.key&&a==l.type)return n;if(r>(c?1:0)){for(o=n-1;o>=0;o--)if((l=e[o])&&!(2&l.__u)&&s==l.key&&a==l.type)return o;for(o=n+1;o<e.length;o++)if((l=e[o])&&!(2&l.__u)&&s==l.key&&a==l.type)return o}return-1}function Pe(t,e,n){n==null&&(n=""),e[0]=="-"?t.setProperty(e,n):t[e]=n}function Z(t,e,n,r,o){var s,a;if(e=="style")if(typeof n=="string")t.style.cssText=n;else{if(typeof r=="string"&&(t.style.cssText=r=""),r)for(e in r)n&&e in n||Pe(t.style,e);if(n)for(e in n)r&&n[e]==r[e]||Pe(t.style,e,n[e])}else if(e[0]=="o"&&e[1]=="n")typeof n!="function"&&(n=null),typeof r!="function"&&(r=null),(t.__e||(t.__e={}))[e]=n,n&&r||(a=fe[e]||(fe[e]=Et(e)),(t.__a||(t.__a={}))[e]=me,s=e!=(e=e.replace(De,"$1")),(e=e.slice(2))[0]<"a"&&(e=e.toLowerCase()),n?t.addEventListener(e,a,s):t.removeEventListener(e,a,s));else{if(o=="http://www.w3.org/2000/svg")e=e.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(e!="width"&&e!="height"&&e!="href"&&e!="list"&&e!="form"&&e!="tabIndex"&&e!="download"&&e!="rowSpan"&&e!="colSpan"&&e!="role"&&e!="popover"&&e in t)try{return void(t[e]=n??"")}catch{}if(typeof n=="function")return;n==null||n===!1&&e[4]!="-"?t.removeAttribute(e):t.setAttribute(e,e=="popover"&&n==1?"":n)}}function Et(t){return function(e){var n=this.__e;if(n){if(n=n[t],e[ee]==null)e[ee]=me++;else if(e[ee]<this.__a[t])return;return n($.event?$.event(e):e)}}}function ye(t,e,n,r,o,s,a,l,c,f){var u,d,_,i,m,h,y,b,g,w,v,E,H,R,A,F,D,O,I=e.type;if(e.constructor!==z)return null;128&n.__u&&(c=32&n.__u,u=n.__c.__z)&&(e.__u|=c,d=s=[],u.nodeType==8?l=te(u,s):s.push(u),l=s[0]||l),(u=$.__b)&&u(e);e:if(typeof I=="function"){_=a.length;try{if(b=e.props,g=(u=I.prototype)&&u.render,w=(u=I.contextType)&&r[u.__c],v=u?w?w.props.value:u.__:r,(i=n.__c)?(e.__c=i,2&i.__g&&(i.__g|=1)):(g?e.__c=i=new I(b,v):(e.__c=i=new B(b,v),i.constructor=I,i.render=Nt),w&&w.sub(i),i.state||(i.state={}),i.__n=r,i.__g|=8,i.__h=[],i.__k=[]),g&&(i.__s||(i.__s=i.state),I.getDerivedStateFromProps&&(i.__s==i.state&&(i.__s=q({},i.__s)),q(i.__s,I.getDerivedStateFromProps(b,i.__s)))),m=i.props,h=i.state,i.__v=e,n.__c){if(b!==m&&g&&!I.getDerivedStateFromProps&&i.componentWillReceiveProps&&i.componentWillReceiveProps(b,v),e.__v==n.__v&&!(8&i.__g)||!(4&i.__g)&&i.shouldComponentUpdate&&i.shouldComponentUpdate(b,i.__s,v)===!1){e.__v!=n.__v&&(i.props=b,i.state=i.__s,i.__g&=-9),e.__e=n.__e,e.__k=n.__k,e.__k.some(function(L){L&&(L.__=e)}),re.push.apply(i.__h,i.__k),i.__k=[],i.__h.length&&a.push(i),l=V(n);break e}i.componentWillUpdate&&i.componentWillUpdate(b,i.__s,v),g&&i.componentDidUpdate&&i.__h.push(function(){i.componentDidUpdate(m,h,y)})}else g&&!I.getDerivedStateFromProps&&i.componentWillMount&&i.componentWillMount(),g&&i.componentDidMount&&i.__h.push(i.componentDidMount);i.context=v,i.props=b,i.__P=t,i.__g&=-5,E=$.__r,H=g?25:0;do i.__g&=-9,E&&E(e),u=i.render(i.props,i.state=i.__s,i.context);while(8&i.__g&&++H<25);g&&(re.push.apply(i.__h,i.__k),i.__k=[]),i.state=i.__s,i.getChildContext&&(r=q({},r,i.getChildContext())),g&&n.__c&&i.getSnapshotBeforeUpdate&&(y=i.getSnapshotBeforeUpdate(m,h)),R=u&&u.type===oe&&u.key==null?u.props.children:u,b.__P&&(u=l,o=(t=b.__P).namespaceURI,c=s=null,n.props&&n.props.__P!=t&&(n.__k.some(function(L){L&&$e(L,L)}),n.__k=null),l=n.__k?V(n,0):null),l=He(t,he(R)?R:[R],e,n,r,o,s,a,l,c,f),b.__P&&(e.__e=null,l=u),e.__u&=-161,d&&d.some(W),i.__h.length&&a.push(i),1&i.__g&&(i.__g&=-4)}catch(L){if(a.length=_,e.__v=null,c||s)if(L&&L.then){if(e.__u|=128|c,s){for(~(D=s.indexOf(l||void 0))||(D=s.length);(O=s[D-1])&&O.nodeType==8;)D--;for(;D<s.length;D++)if(O=s[D])if(s[D]=null,A){if(O==F)break}else{if(O.nodeType!=8)break;O.data.startsWith("$s")&&(F=te(A=O))}}if(!A){for(;l&&l.nodeType==8&&l.nextSibling;)l=l.nextSibling;A=l}(u=te(A=e.__c.__z||(e.__c.__z=A)))?(e.__e=A,l=u):e.__e=l,l=l&&l.nextSibling}else s&&s.some(W);else e.__e=n.__e;e.__k||(e.__k=n.__k||[]),L&&L.then||Oe(e),$.__e(L,e,n)}}else l=e.__e=Lt(n.__e,e,n,r,o,s,a,c,f,t);return(u=$.diffed)&&u(e),l}function te(t,e){if(t&&t.nodeType==8&&t.data.startsWith("$s"))for(var n=1;t=t.nextSibling;){if(t.nodeType==8){if(t.data.startsWith("$s"))n++;else if(t.data.startsWith("/$s")&&!--n)return t}e&&e.push(t)}}function Oe(t){t&&(t.__c&&(t.__c.__g|=4),t.__k&&t.__k.some(Oe))}function We(t,e,n){for(var r=0;r<n.length;)be(n[r++],n[r++],n[r++]);$.__c&&$.__c(e,t),t.some(function(o){try{t=o.__h,o.__h=[],t.some(function(s){s.call(o)})}catch(s){$.__e(s,o.__v)}})}function Lt(t,e,n,r,o,s,a,l,c,f){var u,d,_,i,m,h,y,b,g=n.props||se,w=e.props,v=e.type;if(v=="svg"?o="http://www.w3.org/2000/svg":v=="math"?o="http://www.w3.org/1998/Math/MathML":o||(o="http://www.w3.org/1999/xhtml"),s){for(u=0;u<s.length;u++)if((m=s[u])&&(v?m.localName==v:m.nodeType==3)){t=m,s[u]=null;break}}if(!t){if(b=f.ownerDocument||document,!v)return b.createTextNode(w);t=b.createElementNS(o,v,w.is?w:f),l&&($.__m&&$.__m(e,s),l=!1),s=null}if(v){if(f=v=="template"&&t.content||t,s=v=="textarea"&&w.defaultValue!=null?null:s&&ge.call(f.childNodes),!l&&s)for(g={},u=0;u<t.attributes.length;u++)g[(m=t.attributes[u]).name]=m.value;for(u in g)m=g[u],u=="dangerouslySetInnerHTML"?_=m:u=="children"||u in w||u=="value"&&"defaultValue"in w||u=="checked"&&"defaultChecked"in w||Z(t,u,null,m,o);for(u in w)m=w[u],u=="children"?i=m:u=="dangerouslySetInnerHTML"?d=m:u=="value"?h=m:u=="checked"?y=m:l&&typeof m!="function"||g[u]===m||Z(t,u,m,g[u],o);d?(l||_&&(d.__html==_.__html||d.__html==t.innerHTML)||(t.innerHTML=d.__html),e.__k=[]):(_&&(t.textContent=""),(v=="foreignObject"||o=="http://www.w3.org/1998/Math/MathML"&&St.test(v))&&(o="http://www.w3.org/1999/xhtml"),He(f,he(i)?i:[i],e,n,r,o,s,a,s?s[0]:n.__k&&V(n,0),l,c),s&&s.some(W)),l&&v!="textarea"||(u="value",v=="progress"&&h==null?t.removeAttribute(u):h==null||h===t[u]&&(v!="progress"||h)||Z(t,u,h,g[u],o),u="checked",y!=null&&y!=t[u]&&Z(t,u,y,g[u],o))}else g===w||l&&t.data==w||(t.data=w);return t}function be(t,e,n,r){try{typeof t=="function"?e?e.__x=t(e)||1:r&&(r=r.__c||r.__e)&&(e=r.__x)&&(r.__x=null,typeof e=="function"?e():t(null)):t.current=e}catch(o){$.__e(o,n)}}function $e(t,e,n){var r,o,s,a;if($.unmount&&$.unmount(t),!(r=t.ref)||r.current&&r.current!=t.__e||be(r,null,e,t),r=t.__c){if(r.componentWillUnmount)try{r.componentWillUnmount()}catch(l){$.__e(l,e)}r.__P=r.__n=null}if(r=t.__k)for(a=0;a<r.length;a++)r[a]&&$e(r[a],e,typeof t.type!="function"||n&&!t.props.__P);!n&&(r=t.__c)&&(r=r.__z)&&(o=te(r,s=[]))&&(r==t.__e&&s.some(W),W(o),W(r)),n||W(t.__e),t.__e=t.__c=t.__=null}function Nt(t,e,n){return this.constructor(t,n)}function ke(t,e){var n,r,o,s;$.__&&$.__(t,e),e.nodeType==9&&(e=e.documentElement),r=(n=t&&32&t.__u)?null:e.__k,e.__k=j(oe,{children:[t]}),o=[],s=[],ye(e,e.__k,r||se,se,e.namespaceURI,r?null:e.firstChild?ge.call(e.childNodes):null,o,r?r.__e:e.firstChild,n,s),We(o,e.__k,s),e.__k.props.children=null}$={__e:function(t,e,n,r){for(var o,s,a;e=e.__;)if((o=e.__c)&&!(1&o.__g)){o.__g|=4;try{if((a=(s=o.constructor)&&s.getDerivedStateFromError)&&o.setState(s.getDerivedStateFromError(t)),o.componentDidCatch&&(o.componentDidCatch(t,r||{}),a=1),a&&8&o.__g)return void(o.__g|=2)}catch(l){t=l}}throw ne=0,t}},Ie=0,kt=function(t){return t!=null&&t.constructor===z},B.prototype.setState=function(t,e){var n=this.__s;n&&n!=this.state||(n=this.__s=q({},this.state)),typeof t=="function"&&(t=t(q({},n),this.props)),t&&(q(n,t),this.__v&&(e&&this.__k.push(e),Ce(this)))},B.prototype.forceUpdate=function(t){this.__v&&(this.__g|=4,t&&this.__h.push(t),Ce(this))},B.prototype.render=oe,U=[],ne=0,Me=function(t,e){return t.__v.__b-e.__v.__b},ee=Symbol(),De=/(PointerCapture)$|Capture$/i,me=0,fe={},wt=0;var je=function(t,e,n,r){var o;e[0]=0;for(var s=1;s<e.length;s++){var a=e[s++],l=e[s]?(e[0]|=a?1:2,n[e[s++]]):e[++s];a===3?r[0]=l:a===4?r[1]=Object.assign(r[1]||{},l):a===5?(r[1]=r[1]||{})[e[++s]]=l:a===6?r[1][e[++s]]+=l+"":a?(o=t.apply(l,je(t,l,n,["",null])),r.push(o),l[0]?e[0]|=2:(e[s-2]=0,e[s]=o)):r.push(l)}return r},qe=new Map;function Be(t){var e=qe.get(this);return e||(e=new Map,qe.set(this,e)),(e=je(this,e.get(t)||(e.set(t,e=(function(n){for(var r,o,s=1,a="",l="",c=[0],f=function(_){s===1&&(_||(a=a.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?c.push(0,_,a):s===3&&(_||a)?(c.push(3,_,a),s=2):s===2&&a==="..."&&_?c.push(4,_,0):s===2&&a&&!_?c.push(5,0,!0,a):s>=5&&((a||!_&&s===5)&&(c.push(s,0,a,o),s=6),_&&(c.push(s,_,0,o),s=6)),a=""},u=0;u<n.length;u++){u&&(s===1&&f(),f(u));for(var d=0;d<n[u].length;d++)r=n[u][d],s===1?r==="<"?(f(),c=[c],s=3):a+=r:s===4?a==="--"&&r===">"?(s=1,a=""):a=r+a[0]:l?r===l?l="":a+=r:r==='"'||r==="'"?l=r:r===">"?(f(),s=1):s&&(r==="="?(s=5,o=a,a=""):r==="/"&&(s<5||n[u][d+1]===">")?(f(),s===3&&(c=c[0]),s=c,(c=c[0]).push(2,0,s),s=0):r===" "||r==="	"||r===`
`||r==="\r"?(f(),s=2):a+=r),s===3&&a==="!--"&&(s=4,c=c[0])}return f(),c})(t)),e),arguments,[])).length>1?e:e[0]}var p=Be.bind(ve);var J,x,we,ze,Se=Object.is,G=0,tt=[],xe=[],S=$,Ke=S.__b,Je=S.__r,Ge=S.diffed,Ye=S.__c,Qe=S.unmount,Xe=S.__;function Te(t,e){S.__h&&S.__h(x,t,G||e),G=0;var n=x.__H||(x.__H={__:[],__h:[]});return t>=n.__.length&&n.__.push({}),n.__[t]}function k(t){return G=1,At(at,t)}function At(t,e,n){var r=Te(J++,2);if(r.t=t,!r.__c&&(r.__=[n?n(e):at(void 0,e),function(s){var a=(r.__N||r.__)[0],l=r.t(a,s);Se(a,l)||(r.__N=[l,r.__[1]],r.__c.setState({}))}],r.__c=x,!x.__f)){x.__f=!0;var o=x.shouldComponentUpdate;x.shouldComponentUpdate=function(s,a,l){var c=this.__H;if(!c)return!0;var f=!1,u=this.props!=s;if(c.__.some(function(_){_.__N&&(f=!0,Se(_.__[0],_.__N[0])||(u=!0))}),o){var d=o.call(this,s,a,l);return f?d||u:d}return!f||u}}return r.__}function T(t,e){var n=Te(J++,3);!S.__s&&ot(n.__H,e)&&(n.__P=!0,n.__=t,n.u=e,x.__H.__h.push(n))}function nt(t){return G=5,st(function(){return{current:t}},[])}function st(t,e){var n=Te(J++,7);return ot(n.__H,e)&&(n.__=t(),n.__H=e),n.__}function rt(t,e){return G=8,st(function(){return t},e)}function Ct(){var t;do{for(;t=xe.shift();)try{K(t)}catch(n){S.__e(n,{__:(t=t.__P)&&t.__v})}for(;t=tt.shift();){var e=t.__H;if(t.__P&&e)try{e.__h.some(K),e.__h.some(Re),e.__h=[]}catch(n){e.__h=[],S.__e(n,t.__v)}}}while(xe.length)}S.__b=function(t){x=null,Ke&&Ke(t)},S.__=function(t,e){t&&e.__k&&e.__k.__m&&(t.__m=e.__k.__m),Xe&&Xe(t,e)},S.__r=function(t){Je&&Je(t),J=0;var e=(x=t.__c).__H;e&&(we==x?x.__h=[]:(e.__h.some(K),e.__h.some(Re),J=0),e.__h=[],e.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})),we=x},S.diffed=function(t){Ge&&Ge(t);var e=t.__c;e&&e.__H&&(e.__H.__h.length&&et(tt.push(e)),e.__H.__.some(function(n){n.u&&(n.__H=n.u)})),we=x=null},S.__c=function(t,e){e.some(function(n){try{n.__h.some(K),n.__h=n.__h.filter(function(r){return!r.__||Re(r)})}catch(r){n.__h=[function(){throw r}]}}),Ye&&Ye(t,e)},S.unmount=function(t){Qe&&Qe(t);var e,n,r=t.__c;r&&r.__H&&(r.__H.__.some(function(o){try{if(o.__P&&o.__c){if(n===void 0){for(n=t.__;n&&(!n.__c||!n.__c.__P);)n=n.__;n=n&&n.__c}o.__P=n,et(xe.push(o))}else K(o)}catch(s){e=s}}),r.__H=void 0,e&&S.__e(e,r.__v))};var Ze=typeof requestAnimationFrame=="function";function Pt(t){var e,n=function(){clearTimeout(r),Ze&&cancelAnimationFrame(e),setTimeout(t)},r=setTimeout(n,35);Ze&&(e=requestAnimationFrame(n))}function et(t){t!=1&&ze==S.requestAnimationFrame||((ze=S.requestAnimationFrame)||Pt)(Ct)}function K(t){var e=x,n=t.__c;typeof n=="function"&&(t.__c=void 0,n()),x=e}function Re(t){var e=x;t.__c=t.__(),x=e}function ot(t,e){return!t||t.length!=e.length||e.some(function(n,r){return!Se(n,t[r])})}function at(t,e){return typeof e=="function"?e(t):e}var Y="agentcore-task.token",It=new URL("../",window.location.href.split("#")[0]);function Ee(){return sessionStorage.getItem(Y)??localStorage.getItem(Y)??""}function it(t,e){ae(),(e?localStorage:sessionStorage).setItem(Y,t)}function ae(){sessionStorage.removeItem(Y),localStorage.removeItem(Y)}var C=class extends Error{constructor(n,r,o){super(r);de(this,"status",n);de(this,"field",o)}};function lt(t={}){let e=Ee();return e?{...t,Authorization:`Bearer ${e}`}:t}function ut(t,e={}){let n=new URL(t,It);for(let[r,o]of Object.entries(e))o!==void 0&&o!==""&&n.searchParams.set(r,o);return n}async function N(t,e={}){let n=await fetch(ut(t,e.query),{method:e.method??"GET",headers:lt({Accept:"application/json"}),credentials:"same-origin"}),r=await n.text(),o=null;try{o=r?JSON.parse(r):null}catch{o=null}if(!n.ok){let s=o??{};throw new C(n.status,s.error??s.detail??`${n.status} ${n.statusText}`,s.field)}return o}function ie(t,e,n,r){let o=new AbortController,s="",a=0;return(async()=>{for(;!o.signal.aborted;){try{let f=await fetch(ut(t,e),{headers:lt(s?{Accept:"text/event-stream","Last-Event-ID":s}:{Accept:"text/event-stream"}),credentials:"same-origin",signal:o.signal,cache:"no-store"});if(f.status===401||f.status===403||f.status===404){r("closed");return}if(!f.ok||!f.body)throw new Error(`stream answered ${f.status}`);r("live"),a=0,await Mt(f.body,u=>{u.id&&(s=u.id),n(u)})}catch{if(o.signal.aborted)return}r("reconnecting");let c=Math.min(1e4,500*2**a++);await new Promise(f=>setTimeout(f,c))}})(),()=>{o.abort()}}async function Mt(t,e){let n=t.getReader(),r=new TextDecoder,o="",s={event:"",data:[],id:""};for(;;){let{value:a,done:l}=await n.read();if(l)return;o+=r.decode(a,{stream:!0});let c=o.endsWith("\r")?"\r":"",f=(c?o.slice(0,-1):o).split(/\r\n|\r|\n/);o=(f.pop()??"")+c;for(let u of f){if(u===""){s.data.length>0&&e({event:s.event||"message",data:s.data.join(`
`),id:s.id}),s={event:"",data:[],id:s.id};continue}if(u.startsWith(":"))continue;let d=u.indexOf(":"),_=d===-1?u:u.slice(0,d),i=d===-1?"":u.slice(d+1),m=i.startsWith(" ")?i.slice(1):i;_==="event"?s.event=m:_==="data"?s.data.push(m):_==="id"&&(s.id=m)}}}function Le(t){let[e="",n=""]=t.replace(/^#/,"").split("?"),[,r="runs",o]=e.split("/");return{view:r||"runs",id:o,query:new URLSearchParams(n)}}function Q(t,e={}){let n=new URLSearchParams;for(let[o,s]of Object.entries(e))s!==void 0&&s!==""&&n.set(o,s);let r=n.toString();return`#${t}${r?`?${r}`:""}`}var Dt=new Intl.DateTimeFormat(void 0,{dateStyle:"medium",timeStyle:"medium"});function M(t){if(!t)return"\u2014";let e=new Date(t);return Number.isNaN(e.getTime())?t:Dt.format(e)}function le(t){if(t==null)return"\u2014";if(t<1)return`${Math.round(t*1e3)} ms`;if(t<60)return`${t.toFixed(1)} s`;let e=Math.floor(t/60);return e<60?`${e} min ${Math.round(t%60)} s`:`${Math.floor(e/60)} h ${e%60} min`}function ue({status:t}){return p`<span class=${`badge badge-${t.toLowerCase()}`}>${t}</span>`}function Ut(t){let e=t.metadata??{},n=e.progress_percent;if(n==null)return null;let r=Number(n);return{percent:Number.isFinite(r)?Math.max(0,Math.min(100,r)):0,message:typeof e.progress_message=="string"?e.progress_message:"",step:e.progress_step===void 0||e.progress_step===null?"":String(e.progress_step)}}function ce({item:t,label:e}){let n=Ut(t);if(!n)return null;let r=[n.step,n.message].filter(Boolean).join(" \xB7 ");return p`<div class="progress">
    <div
      class=${`progress-track progress-${t.status.toLowerCase()}`}
      role="progressbar"
      aria-label=${e}
      aria-valuemin="0"
      aria-valuemax="100"
      aria-valuenow=${String(n.percent)}
      aria-valuetext=${`${n.percent}%${r?` ${r}`:""}`}
    >
      <div class="progress-fill" style=${{width:`${n.percent}%`}}></div>
    </div>
    <div class="progress-text"><span class="progress-percent">${n.percent}%</span> ${r}</div>
  </div>`}function X({value:t,label:e}){let n=t===void 0?"":JSON.stringify(t,null,2);return p`<pre class="code" aria-label=${`${e} (JSON)`} tabindex="0">${n}</pre>`}function P({error:t}){return t?p`<p class="alert" role="alert">${t}</p>`:null}function ct(t){if(typeof t!="string"||t.trim()==="")return"UNKNOWN";let e=t.trim().toUpperCase();return e==="WARN"?"WARNING":e==="FATAL"?"CRITICAL":e}function _t({id:t,onLive:e}){let[n,r]=k(null),[o,s]=k(null),[a,l]=k(!1),[c,f]=k(null),u=nt(null);u.current=n?.status??u.current;let d=()=>N(`executions/${encodeURIComponent(t)}/`).then(h=>{r(h),s(null)}).catch(h=>s(h instanceof C&&h.status===404?"This run does not exist or is not yours.":h.message));T(()=>{r(null),d();let h,y=ie(`executions/${encodeURIComponent(t)}/stream/`,{},b=>{if(b.event!=="execution")return;let g=JSON.parse(b.data),w=u.current!==g.status;u.current=g.status,r(v=>v&&{...v,...g}),(w||g.is_completed)&&(clearTimeout(h),h=setTimeout(()=>{d()},200))},e);return()=>{clearTimeout(h),y(),e("closed")}},[t]);let _=async()=>{l(!0),f(null);try{r(await N(`executions/${encodeURIComponent(t)}/sync/`,{method:"POST"})),f("Synced from the queue.")}catch(h){f(`Sync failed: ${h.message}`)}finally{l(!1)}};if(o)return p`<main id="main"><p><a href="#/runs">← All runs</a></p><${P} error=${o} /></main>`;if(!n)return p`<main id="main"><p class="muted" aria-live="polite">Loading…</p></main>`;let i={...n.metadata??{}},m=Array.isArray(i.logs)?i.logs:[];return delete i.logs,p`<main id="main" class="detail">
    <p><a href="#/runs">← All runs</a></p>
    <div class="detail-head">
      <h1>${n.task_name||"(unnamed)"} <${ue} status=${n.status} /></h1>
      <button type="button" onClick=${_} disabled=${a} aria-label="Sync this run from the queue">
        ${a?"Syncing\u2026":"Sync"}
      </button>
    </div>
    ${c?p`<p class="notice" role="status">${c}</p>`:null}
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
    <section aria-labelledby="h-metadata"><h2 id="h-metadata">Metadata</h2><${X} value=${i} label="Metadata" /></section>

    <section aria-labelledby="h-logs"><h2 id="h-logs">Logs</h2>
      ${m.length===0?p`<p class="muted">No logs were collected for this run.</p>`:p`<table class="logs">
              <thead><tr><th scope="col">Time</th><th scope="col">Level</th><th scope="col">Message</th></tr></thead>
              <tbody>${m.map(h=>p`<tr class=${`log-${ct(h.level).toLowerCase()}`}>
                  <td data-label="Time"><time datetime=${h.timestamp}>${M(h.timestamp)}</time></td>
                  <td data-label="Level"><span class="level">${ct(h.level)}</span></td>
                  <td data-label="Message">${h.message}${h.exception?p`<pre class="code small">${h.exception}</pre>`:null}</td>
                </tr>`)}</tbody>
            </table>`}
    </section>
  </main>`}function dt(){let[t,e]=k(null),[n,r]=k(null),o=()=>N("locks/").then(s=>{e(Array.isArray(s)?s:s.results??s.locks??[]),r(null)}).catch(s=>r(s.message));return T(()=>{o()},[]),p`<main id="main">
    <div class="detail-head"><h1>Locks</h1><button type="button" onClick=${o}>Refresh</button></div>
    <p class="muted">Task locks held right now. A lock expires by itself at its expiry unless its holder renews it.</p>
    <${P} error=${n} />
    ${t&&t.length===0?p`<p class="empty">No locks are held.</p>`:null}
    ${t&&t.length>0?p`<table class="locks"><thead><tr><th scope="col">Name</th><th scope="col">Owner</th><th scope="col">Expires</th></tr></thead>
          <tbody>${t.map(s=>p`<tr><td data-label="Name" class="mono">${s.name}</td><td data-label="Owner" class="mono small">${s.owner}</td>
              <td data-label="Expires">${M(s.expires_at)}</td></tr>`)}</tbody></table>`:null}
  </main>`}var pt=["PENDING","STARTED","SUCCESS","FAILURE","RETRY","REVOKED"];var _e=["search","status","module","task_name","start_date","end_date","ordering","page_size","my_tasks"],Vt=[["-created_at","Newest first"],["created_at","Oldest first"],["-started_at","Recently started"],["-finished_at","Recently finished"],["status","Status"],["task_name","Task name"]],Ht=["search","module","task_name","start_date","end_date","my_tasks","created_by"];function Ne(t,e){let n={};for(let r of e)t.get(r)&&(n[r]=t.get(r)??void 0);return n}function ft({route:t,isAdmin:e,onLive:n}){let r=t.query,o={...Ne(r,[..._e,"created_by","page"])},s=new URLSearchParams(o).toString(),a=Ne(r,Ht),l=new URLSearchParams(a).toString(),c=Number(r.get("page")??"1")||1,f=Number(r.get("page_size")??"10")||10,u=r.get("ordering")??"-created_at",d=r.get("status")??"",[_,i]=k(null),[m,h]=k(null),[y,b]=k(!0);T(()=>{let v=!1;return b(!0),N("executions/",{query:o}).then(E=>{v||(i(E),h(null))}).catch(E=>{v||(i(null),h(E instanceof C&&E.status===404?"No runs on this page.":E.message))}).finally(()=>!v&&b(!1)),()=>{v=!0}},[s]),T(()=>{let v=ie("executions/stream/",a,E=>{if(E.event!=="execution")return;let H=JSON.parse(E.data);i(R=>{if(!R)return R;let A=R.results.findIndex(F=>F.id===H.id);if(A>=0){let F=R.results.slice();return F[A]=H,{...R,results:F}}return c!==1||u!=="-created_at"||d&&H.status!==d?R:{...R,count:R.count+1,results:[H,...R.results].slice(0,f)}})},n);return()=>{v(),n("closed")}},[l,c,f,u,d]);let g=_?Math.max(1,Math.ceil(_.count/f)):1,w=v=>{window.location.hash=Q("/runs",{...Ne(r,[..._e,"created_by","page"]),...v})};return p`<main id="main">
    <h1>Task runs</h1>
    <${Ft} key=${s} query=${r} isAdmin=${e} onApply=${v=>w({...v,page:void 0})} />
    <${P} error=${m} />
    <div class="list-head">
      <p class="muted" aria-live="polite">${y?"Loading\u2026":_?`${_.count} run${_.count===1?"":"s"}`:""}</p>
    </div>
    ${_&&_.results.length===0?p`<p class="empty">No runs match these filters.</p>`:null}
    ${_&&_.results.length>0?p`<${Ot} items=${_.results} />`:null}
    ${_&&_.count>f?p`<nav class="pager" aria-label="Pages">
            <button type="button" disabled=${c<=1} onClick=${()=>w({page:String(c-1)})}>Previous</button>
            <span>Page ${c} of ${g}</span>
            <button type="button" disabled=${c>=g} onClick=${()=>w({page:String(c+1)})}>Next</button>
          </nav>`:null}
  </main>`}function Ft({query:t,isAdmin:e,onApply:n}){let[r,o]=k(()=>{let a={ordering:"-created_at",page_size:"10"};for(let l of _e)t.get(l)&&(a[l]=t.get(l)??"");return a}),s=a=>({name:a,value:r[a]??"",onInput:l=>o({...r,[a]:l.target.value})});return p`<form
    class="filters"
    role="search"
    aria-label="Filter runs"
    onSubmit=${a=>{a.preventDefault();let l={};for(let c of _e)r[c]&&(l[c]=r[c]);l.ordering==="-created_at"&&delete l.ordering,l.page_size==="10"&&delete l.page_size,n(l)}}
  >
    <div class="field grow"><label for="f-search">Search</label>
      <input id="f-search" type="search" placeholder="Task name or id" ...${s("search")} /></div>
    <div class="field"><label for="f-status">Status</label>
      <select id="f-status" ...${s("status")}>
        <option value="">Any status</option>
        ${pt.map(a=>p`<option value=${a}>${a}</option>`)}
      </select></div>
    <div class="field"><label for="f-module">Module</label><input id="f-module" ...${s("module")} /></div>
    <div class="field"><label for="f-task-name">Task name</label><input id="f-task-name" ...${s("task_name")} /></div>
    <div class="field"><label for="f-start">From</label><input id="f-start" type="date" ...${s("start_date")} /></div>
    <div class="field"><label for="f-end">To</label><input id="f-end" type="date" ...${s("end_date")} /></div>
    <div class="field"><label for="f-ordering">Order</label>
      <select id="f-ordering" ...${s("ordering")}>
        ${Vt.map(([a,l])=>p`<option value=${a}>${l}</option>`)}
      </select></div>
    <div class="field"><label for="f-page-size">Per page</label>
      <select id="f-page-size" ...${s("page_size")}>
        ${["10","25","50","100"].map(a=>p`<option value=${a}>${a}</option>`)}
      </select></div>
    ${e?p`<div class="field check-field"><label class="check"><input type="checkbox" name="all_users"
            checked=${r.my_tasks==="false"}
            onChange=${a=>o({...r,my_tasks:a.target.checked?"false":""})} />
            All users</label></div>`:null}
    <div class="field actions">
      <button type="submit" class="primary">Apply</button>
      <a class="button" href="#/runs">Reset</a>
    </div>
  </form>`}function Ot({items:t}){return p`<table class="runs">
    <caption class="sr-only">Task runs</caption>
    <thead><tr><th scope="col">Task</th><th scope="col">Module</th><th scope="col">Status</th><th scope="col">Progress</th>
      <th scope="col">Created</th><th scope="col">Duration</th><th scope="col">User</th></tr></thead>
    <tbody>
      ${t.map(e=>p`<tr key=${e.id} data-run-id=${e.id} data-status=${e.status}>
          <td data-label="Task"><div><a href=${`#/runs/${e.id}`} class="task-link">${e.task_name||"(unnamed)"}</a>
            <div class="muted mono small">${e.task_id}</div></div></td>
          <td data-label="Module">${e.module||"\u2014"}</td>
          <td data-label="Status"><${ue} status=${e.status} /></td>
          <td data-label="Progress" class="progress-cell">
            ${p`<${ce} item=${e} label=${`Progress of ${e.task_name}`} />`}</td>
          <td data-label="Created"><time datetime=${e.created_at}>${M(e.created_at)}</time></td>
          <td data-label="Duration">${le(e.duration)}</td>
          <td data-label="User">${e.created_by_username??e.created_by_id??"system"}</td>
        </tr>`)}
    </tbody>
  </table>`}function mt({onSignIn:t,error:e}){let[n,r]=k(""),[o,s]=k(!1);return p`<main class="signin" id="main">
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
        onInput=${a=>r(a.target.value)} />
      <label class="check"><input type="checkbox" checked=${o}
        onChange=${a=>s(a.target.checked)} /> Remember on this device</label>
      <button type="submit" class="primary">Sign in</button>
    </form>
  </main>`}var Ae=["pending","started","success","failure","retry","revoked"],Wt=["module","task_name","start_date","end_date","granularity","my_tasks"];function gt({route:t,isAdmin:e}){let n={};for(let d of Wt)t.query.get(d)&&(n[d]=t.query.get(d)??void 0);n.granularity??(n.granularity="month");let r=new URLSearchParams(n).toString(),[o,s]=k(null),[a,l]=k(null),[c,f]=k({});T(()=>f(n),[r]),T(()=>{let d=!1;return N("executions/stats/",{query:n}).then(_=>{d||(s(_),l(null))}).catch(_=>{d||l(_.message)}),()=>{d=!0}},[r]);let u=d=>({name:d,value:c[d]??"",onInput:_=>f({...c,[d]:_.target.value})});return p`<main id="main">
    <h1>Statistics</h1>
    <form class="filters" aria-label="Filter statistics" onSubmit=${d=>{d.preventDefault(),window.location.hash=Q("/stats",c)}}>
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
          checked=${c.my_tasks==="false"}
          onChange=${d=>f({...c,my_tasks:d.target.checked?"false":""})} /> All users</label></div>`:null}
      <div class="field actions"><button type="submit" class="primary">Apply</button></div>
    </form>
    <${P} error=${a} />
    ${o?p`
      <ul class="counts" aria-label="Runs by status">
        <li class="count-total"><span class="count-label">Total</span><strong>${o.total}</strong></li>
        ${Ae.map(d=>p`<li class=${`count-${d}`}><a href=${Q("/runs",{status:d.toUpperCase(),my_tasks:n.my_tasks})}>
            <span class="count-label">${d}</span><strong>${o[d]}</strong></a></li>`)}
      </ul>
      ${o.series?p`<section aria-labelledby="h-series"><h2 id="h-series">Runs over time</h2><${qt} series=${o.series} /></section>`:null}
      <div class="stack">
        <section aria-labelledby="h-by-module"><h2 id="h-by-module">By module</h2><${ht} rows=${o.by_module} label="Module" /></section>
        <section aria-labelledby="h-by-task"><h2 id="h-by-task">By task name</h2><${ht} rows=${o.by_task_name} label="Task name" /></section>
      </div>`:p`<p class="muted" aria-live="polite">Loading…</p>`}
  </main>`}function ht({rows:t,label:e}){let n=Object.entries(t).sort((r,o)=>o[1].total-r[1].total);return n.length===0?p`<p class="muted">No runs.</p>`:p`<div class="scroll"><table class="counts-table">
    <thead><tr><th scope="col">${e}</th><th scope="col" class="num">Total</th>${Ae.map(r=>p`<th scope="col" class="num">${r}</th>`)}</tr></thead>
    <tbody>${n.map(([r,o])=>p`<tr><th scope="row" class="name">${r||"\u2014"}</th><td class="num"><strong>${o.total}</strong></td>
        ${Ae.map(s=>p`<td class=${`num ${o[s]?`has-${s}`:"zero"}`}>${o[s]}</td>`)}</tr>`)}</tbody>
  </table></div>`}function qt({series:t}){let r={top:12,right:8,bottom:28,left:36},o=Math.max(0,...t.map(_=>_.count)),s=Math.max(2,Math.ceil(o/2)*2),a=720-r.left-r.right,l=220-r.top-r.bottom,c=a/Math.max(1,t.length),f=Math.ceil(t.length/8),u=[0,s/2,s],d=t.reduce((_,i)=>_+i.count,0);return p`<figure class="chart">
    <svg viewBox=${"0 0 720 220"} role="img" aria-label=${`${d} runs in ${t.length} buckets, at most ${o} in one`}>
      ${u.map(_=>{let i=r.top+l-_/s*l;return p`<g class="tick"><line x1=${r.left} x2=${720-r.right} y1=${i} y2=${i} />
          <text x=${r.left-6} y=${i+4} text-anchor="end">${_}</text></g>`})}
      ${t.map((_,i)=>{let m=_.count/s*l,h=r.left+i*c;return p`<g class="bar">
          <rect x=${h+c*.15} y=${r.top+l-m} width=${Math.max(1,c*.7)} height=${Math.max(0,m)} rx="2"><title>${_.bucket}: ${_.count}</title></rect>
          ${i%f===0?p`<text x=${h+c/2} y=${212} text-anchor="middle">${_.bucket}</text>`:null}
        </g>`})}
    </svg>
  </figure>`}async function vt(){try{await N("executions/",{query:{page_size:"1"}})}catch(t){if(t instanceof C&&t.status===401)return{state:"signed-out",error:null};throw t}try{return await N("executions/",{query:{page_size:"1",my_tasks:"false"}}),{state:"in",isAdmin:!0}}catch(t){if(t instanceof C&&t.status===403)return{state:"in",isAdmin:!1};throw t}}function jt(){let[t,e]=k(()=>Le(window.location.hash));return T(()=>{let n=()=>e(Le(window.location.hash));return window.addEventListener("hashchange",n),()=>window.removeEventListener("hashchange",n)},[]),t}function Bt(){let t=jt(),[e,n]=k({state:"checking"}),[r,o]=k(null),[s,a]=k("closed"),l=rt(d=>a(d),[]),c=()=>vt().then(n).catch(d=>o(d.message));if(T(()=>{c()},[]),r)return p`<main id="main" class="signin"><p class="alert" role="alert">Cannot reach the API: ${r}</p></main>`;if(e.state==="checking")return p`<main id="main" class="signin"><p class="muted" aria-live="polite">Loading…</p></main>`;if(e.state==="signed-out")return p`<${mt}
      error=${e.error}
      onSignIn=${async(d,_)=>{it(d,_);let i=await vt().catch(m=>({state:"signed-out",error:m.message}));i.state==="signed-out"?(ae(),n({state:"signed-out",error:i.error??"That token was not accepted."})):n(i)}}
    />`;let f=t.view==="runs"&&t.id?"detail":t.view,u=(d,_,i)=>p`<a href=${_} aria-current=${f===d||d==="runs"&&f==="detail"?"page":void 0}>${i}</a>`;return p`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="#/runs">agentcore-task</a>
      <nav aria-label="Sections">
        ${u("runs","#/runs","Runs")} ${u("stats","#/stats","Stats")} ${e.isAdmin?u("locks","#/locks","Locks"):null}
      </nav>
      <span class=${`live live-${s}`} role="status" aria-label=${`Live updates: ${s}`} title="Live updates">
        ${s==="live"?"Live":s==="reconnecting"?"Reconnecting\u2026":""}
      </span>
      ${Ee()?p`<button type="button" class="link" onClick=${()=>{ae(),n({state:"signed-out",error:null})}}>Sign out</button>`:null}
    </header>
    ${f==="detail"?p`<${_t} key=${t.id} id=${t.id} onLive=${l} />`:null}
    ${f==="runs"?p`<${ft} route=${t} isAdmin=${e.isAdmin} onLive=${l} />`:null}
    ${f==="stats"?p`<${gt} route=${t} isAdmin=${e.isAdmin} />`:null}
    ${f==="locks"&&e.isAdmin?p`<${dt} />`:null}
    ${!["detail","runs","stats"].includes(f)&&!(f==="locks"&&e.isAdmin)?p`<main id="main"><p>Page not found. <a href="#/runs">All runs</a></p></main>`:null}
  </div>`}var yt=document.getElementById("app");yt&&ke(p`<${Bt} />`,yt);
